# expect: clean
# backward() without an optimizer (input gradients for a saliency map), a manual SGD update
# under no_grad, per-parameter grad reset, and a regression with MSELoss(pred, y).
import torch
from torch import nn

model = nn.Linear(4, 1)
x = torch.randn(1, 4, requires_grad=True)
score = model(x).sum()
score.backward()
saliency = x.grad.abs()

w = torch.zeros(4, requires_grad=True)
data_loader = [(torch.randn(8, 4), torch.randn(8))]
for epoch in range(100):
    for features, target in data_loader:
        prediction = features @ w
        loss = ((prediction - target) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad = None

regressor = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
mse = nn.MSELoss()
adam = torch.optim.Adam(regressor.parameters(), lr=1e-3)
for xb, yb in data_loader:
    for p in regressor.parameters():
        p.grad = None
    y_hat = regressor(xb).squeeze(-1)
    loss = mse(y_hat, yb)
    loss.backward()
    adam.step()
