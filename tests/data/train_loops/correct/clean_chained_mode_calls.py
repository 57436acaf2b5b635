# expect: clean
# runnable
# Mode switches written as chained calls: model.to(device).train() at the start of each epoch,
# model.eval() before evaluating, model.eval().cpu() and .to(device).eval() at the end.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cpu")
torch.manual_seed(0)
train_loader = DataLoader(TensorDataset(torch.randn(40, 6), torch.randint(0, 2, (40,))), batch_size=10, shuffle=True)
test_loader = DataLoader(TensorDataset(torch.randn(20, 6), torch.randint(0, 2, (20,))), batch_size=10)

model = nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.CrossEntropyLoss()

for epoch in range(2):
    model.to(device).train()
    for inputs, labels in train_loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = sum((model(x.to(device)).argmax(1) == y).sum().item() for x, y in test_loader)
    print(epoch, correct)

model.eval().cpu()
with torch.no_grad():
    for x, y in test_loader:
        predictions = model(x).argmax(dim=1)


def export(net):
    net.to(device).eval()
    with torch.no_grad():
        return [net(x_test) for x_test, _ in test_loader]


export(model)
