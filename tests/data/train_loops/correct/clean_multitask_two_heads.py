# expect: clean
# runnable
# Multi-task learning: one shared trunk, a classification head and a regression head, the two
# losses weighted and summed, one backward() and one step().
import torch
from torch import nn


class MultiTaskNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(6, 32), nn.ReLU())
        self.cls_head = nn.Linear(32, 3)
        self.reg_head = nn.Linear(32, 1)

    def forward(self, x):
        shared = self.trunk(x)
        return self.cls_head(shared), self.reg_head(shared)


torch.manual_seed(0)
net = MultiTaskNet()
cls_criterion = nn.CrossEntropyLoss()
reg_criterion = nn.MSELoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
batches = [(torch.randn(8, 6), torch.randint(0, 3, (8,)), torch.randn(8, 1)) for _ in range(4)]

for epoch in range(2):
    net.train()
    for x, class_labels, reg_targets in batches:
        optimizer.zero_grad()
        class_logits, reg_out = net(x)
        loss = cls_criterion(class_logits, class_labels) + 0.5 * reg_criterion(reg_out, reg_targets)
        loss.backward()
        optimizer.step()
