# expect: DL002
import torch
from torch import nn

model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
train_loader = [(torch.randn(5, 3), torch.randn(5, 1))]

for inputs, targets in train_loader:
    nn.MSELoss()(model(inputs), targets).backward()
    model.zero_grad()
    optimizer.step()
