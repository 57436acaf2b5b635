# expect: DL001
import torch
import torch.nn as nn

net = nn.Linear(10, 3)
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
loader = [(torch.randn(4, 10), torch.randint(0, 3, (4,)))]

for epoch in range(3):
    for step, (xb, yb) in enumerate(loader):
        out = net(xb)
        loss = criterion(out, yb)
        loss.backward()
        opt.step()
