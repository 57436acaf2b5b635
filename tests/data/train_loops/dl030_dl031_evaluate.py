# expect: DL030, DL031
import torch
from torch import nn

model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5), nn.Linear(16, 4))


def evaluate(model, val_loader):
    correct = 0
    for inputs, labels in val_loader:
        outputs = model(inputs)
        correct += (outputs.argmax(1) == labels).sum().item()
    return correct
