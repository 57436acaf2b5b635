# expect: clean
# runnable
# Zeroing gradients in the other usual ways: model.zero_grad(), zero_grad(set_to_none=True), and
# setting each parameter's .grad to None by hand.
import torch
from torch import nn

torch.manual_seed(0)
net = nn.Linear(3, 2)
sgd = torch.optim.SGD(net.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
data = [(torch.randn(4, 3), torch.randint(0, 2, (4,))) for _ in range(3)]

for inputs, targets in data:
    net.zero_grad()
    loss_fn(net(inputs), targets).backward()
    sgd.step()

for inputs, targets in data:
    sgd.zero_grad(set_to_none=True)
    loss = loss_fn(net(inputs), targets)
    loss.backward()
    sgd.step()

for inputs, targets in data:
    for param in net.parameters():
        param.grad = None
    loss = loss_fn(net(inputs), targets)
    loss.backward()
    sgd.step()
