# expect: DL022
import torch
from torch import nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(x)


model = Classifier()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
train_loader = []

for x, y in train_loader:
    optimizer.zero_grad()
    loss = F.nll_loss(model(x), y)
    loss.backward()
    optimizer.step()
