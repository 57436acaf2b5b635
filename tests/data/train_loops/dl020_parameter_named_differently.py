# expect: DL020
"""A training function whose parameters are named differently from the caller's objects.

main() calls ``train(net, train_loader, nn.CrossEntropyLoss(), sgd)``: inside train, ``loss_fn``
is that CrossEntropyLoss, and it is fed softmax probabilities (DL020). The ``loss_fn = nn.NLLLoss()``
of tag() is another object that merely shares the parameter's name.
"""

import torch
import torch.nn.functional as F
from torch import nn


def train(model, loader, loss_fn, opt, epochs=2):
    model.train()
    for _ in range(epochs):
        for inputs, targets in loader:
            opt.zero_grad()
            probs = torch.softmax(model(inputs), dim=1)
            loss = loss_fn(probs, targets)
            loss.backward()
            opt.step()


def main(train_loader):
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    train(net, train_loader, nn.CrossEntropyLoss(), sgd)


def tag(tagger, sentences):
    loss_fn = nn.NLLLoss()
    optimizer = torch.optim.Adam(tagger.parameters(), lr=1e-3)
    for words, tags in sentences:
        optimizer.zero_grad()
        loss = loss_fn(F.log_softmax(tagger(words), dim=1), tags)
        loss.backward()
        optimizer.step()
