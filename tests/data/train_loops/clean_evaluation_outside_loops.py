# expect: clean
# Evaluation outside loops done right, and forward passes on held-out names that are not
# evaluations: full-batch training with a validation pass in eval mode under no_grad, a
# no_grad-decorated evaluate() called after eval(), a served predict() after model.eval() at load
# time, a saliency map on a test image (backward needs autograd), a model's own predict method, a
# validate-and-fine-tune function that trains, and a pytest test of output shapes.
import torch
from torch import nn

torch.manual_seed(0)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x)

    def predict(self, x_test):
        return self.net(x_test).squeeze(1)


model = Regressor()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x_train, y_train = torch.randn(64, 8), torch.randn(64, 1)
x_val, y_val = torch.randn(16, 8), torch.randn(16, 1)
x_test = torch.randn(16, 8)


@torch.no_grad()
def evaluate(model, inputs, targets):
    return criterion(model(inputs), targets).item()


def validate_and_finetune(model, x_val, y_val):
    optimizer.zero_grad()
    loss = criterion(model(x_val), y_val)
    loss.backward()
    optimizer.step()


for epoch in range(20):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(x_train), y_train)
    loss.backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(x_val), y_val).item()
    print(epoch, val_loss, evaluate(model, x_val, y_val))

validate_and_finetune(model, x_val, y_val)
model.eval()
print(evaluate(model, x_val, y_val))

test_image = x_test[:1].clone().requires_grad_(True)
score = model(test_image).sum()
score.backward()
saliency = test_image.grad.abs()


def predict(features):
    with torch.inference_mode():
        return model(features)


def test_output_shape():
    assert model(x_test).shape == (16, 1)
