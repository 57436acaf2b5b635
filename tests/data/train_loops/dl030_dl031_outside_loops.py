# expect: DL030, DL031
# Evaluation outside an evaluation loop: a validation forward pass inside a full-batch training
# loop (neither eval() nor no_grad), an evaluate() function with neither, a predict() under
# no_grad but in training mode, and a test-set pass at the end with eval() but autograd on.
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x_train, y_train = torch.randn(64, 8), torch.randn(64, 1)
x_val, y_val = torch.randn(16, 8), torch.randn(16, 1)
x_test, y_test = torch.randn(16, 8), torch.randn(16, 1)


def evaluate(model, inputs, targets):
    predictions = model(inputs)
    return criterion(predictions, targets).item()


@torch.no_grad()
def predict(model, inputs):
    return model(inputs).squeeze(1)


for epoch in range(20):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(x_train), y_train)
    loss.backward()
    optimizer.step()
    val_loss = criterion(model(x_val), y_val).item()
    print(epoch, loss.item(), val_loss, evaluate(model, x_val, y_val))

first_predictions = predict(model, x_test)
model.eval()
test_mse = ((model(x_test) - y_test) ** 2).mean().item()
