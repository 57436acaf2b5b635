# expect: DL030, DL031
# Validation inside the epoch loop with neither model.eval() nor torch.no_grad(). The fix must set
# evaluation mode for the validation loop AND give training mode back before the next epoch
# (otherwise the patched file would train in evaluation mode: DL032).
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
train_loader, val_loader = [], []

for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    correct = 0
    for x, y in val_loader:
        correct += (model(x).argmax(1) == y).sum().item()
    print(epoch, correct)
