# expect: DL002
import torch
from torch import nn

model = nn.Linear(3, 1)
loss_function = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters())
train_loader = [(torch.randn(5, 3), torch.randn(5, 1))]

for x, y in train_loader:
    y_pred = model(x)
    loss = loss_function(y_pred, y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
