# expect: DL031
import torch
from torch import nn

model = nn.Linear(8, 4)


def test(model, test_loader, criterion):
    model.eval()
    losses = []
    for x, y in test_loader:
        out = model(x)
        losses.append(criterion(out, y).item())
    return sum(losses) / len(losses)
