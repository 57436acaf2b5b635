# expect: clean
# runnable
# Regression with F.mse_loss(prediction, target), a house-prices style feed-forward network, the
# epoch loss averaged from .item() values.
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
X_train = torch.randn(80, 5)
y_train = (X_train.sum(dim=1, keepdim=True) > 0).float() * 2.0
X_test = torch.randn(20, 5)
y_test = (X_test.sum(dim=1, keepdim=True) > 0).float() * 2.0


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(5, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


model = Regressor()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
batch_size = 16
for epoch in range(3):
    model.train()
    permutation = torch.randperm(X_train.size(0))
    epoch_loss = 0.0
    for start in range(0, X_train.size(0), batch_size):
        idx = permutation[start : start + batch_size]
        optimizer.zero_grad()
        prediction = model(X_train[idx])
        loss = F.mse_loss(prediction, y_train[idx])
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item()
    model.eval()
    with torch.no_grad():
        test_mse = F.mse_loss(model(X_test), y_test).item()
    print(epoch, epoch_loss, test_mse)
