# expect: clean
# runnable
# L-BFGS: the closure zeroes the gradients, computes the loss and calls backward(); step(closure)
# runs it as many times as the line search needs.
import torch
from torch import nn

torch.manual_seed(0)
x = torch.linspace(-1, 1, 50).unsqueeze(1)
y = 3 * x**2 - x + 0.5
model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)
mse = nn.MSELoss()

for iteration in range(3):

    def closure():
        optimizer.zero_grad()
        loss = mse(model(x), y)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    print(iteration, loss.item())
