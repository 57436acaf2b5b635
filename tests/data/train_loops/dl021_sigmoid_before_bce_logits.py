# expect: DL021
import torch
from torch import nn

model = nn.Linear(8, 1)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters())
train_loader = []

for inputs, targets in train_loader:
    optimizer.zero_grad()
    loss = criterion(torch.sigmoid(model(inputs)), targets)
    loss.backward()
    optimizer.step()
