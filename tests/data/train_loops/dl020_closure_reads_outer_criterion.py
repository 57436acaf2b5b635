# expect: DL020
"""Nested training steps (closures) reading their enclosing function's ``model``/``criterion``.

main()'s train_step applies softmax before main's CrossEntropyLoss (DL020). finetune() has its own
``criterion`` (NLLLoss) and a train_step of the same name fed log-probabilities (correct): each
closure sees its own enclosing function's bindings.
"""

import torch
from torch import nn


def main(train_loader, epochs=10):
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def train_step(inputs, labels):
        optimizer.zero_grad()
        probs = model(inputs).softmax(dim=1)
        loss = criterion(probs, labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    for epoch in range(epochs):
        for inputs, labels in train_loader:
            train_step(inputs, labels)


def finetune(train_loader, epochs=3):
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5))
    criterion = nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def train_step(inputs, labels):
        optimizer.zero_grad()
        log_probs = torch.log_softmax(model(inputs), dim=1)
        loss = criterion(log_probs, labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    for epoch in range(epochs):
        for inputs, labels in train_loader:
            train_step(inputs, labels)
