# expect: DL010
import torch
import torch.nn.functional as F

w = torch.zeros(3, requires_grad=True)
net = torch.nn.Linear(3, 1)
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
data_loader = []

for features, target in data_loader:
    optimizer.zero_grad()
    prediction = net(features)
    loss = F.mse_loss(target, prediction)
    loss.backward()
    optimizer.step()
