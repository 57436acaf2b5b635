# expect: DL001
# The optimizer is used through an alias, and the loop body lives in a nested function.
import torch
from torch import nn


def main():
    model = nn.Linear(8, 4)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    opt = optimizer
    loader = [(torch.randn(4, 8), torch.randint(0, 4, (4,)))]

    def step(batch):
        inputs, targets = batch
        loss = criterion(model(inputs), targets)
        loss.backward()
        opt.step()
        return loss.item()

    for batch in loader:
        step(batch)
