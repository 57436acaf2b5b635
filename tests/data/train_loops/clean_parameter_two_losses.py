# expect: clean
"""One training function, two callers passing different losses and models under one parameter.

main() trains a classifier ending in raw logits with CrossEntropyLoss; finetune_tagger() trains a
tagger ending in LogSoftmax with NLLLoss. Both are right, but any single guess for ``criterion``
and ``model`` inside train() would mix one caller's loss with the other's model.
"""

import torch
from torch import nn


def train(model, loader, criterion, optimizer, epochs=1):
    model.train()
    for _ in range(epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()


def main(loader):
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, loader, criterion, optimizer)


def finetune_tagger(loader):
    tagger = nn.Sequential(nn.Embedding(1000, 64), nn.Linear(64, 17), nn.LogSoftmax(dim=-1))
    criterion = nn.NLLLoss()
    optimizer = torch.optim.Adam(tagger.parameters(), lr=1e-3)
    train(tagger, loader, criterion, optimizer, epochs=3)
