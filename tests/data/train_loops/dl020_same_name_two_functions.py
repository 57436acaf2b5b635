# expect: DL020
"""Two training functions, each with its own local ``criterion``.

train_classifier feeds softmax probabilities to CrossEntropyLoss (DL020); train_tagger feeds
log-probabilities to NLLLoss (correct). Each ``criterion`` is local to its function, so neither
function's loss may leak into the other.
"""

import torch
import torch.nn.functional as F
from torch import nn


def train_classifier(model, loader, epochs=3):
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    for epoch in range(epochs):
        for inputs, labels in loader:
            optimizer.zero_grad()
            probs = F.softmax(model(inputs), dim=1)
            loss = criterion(probs, labels)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: {loss.item():.4f}")


def train_tagger(model, loader, epochs=3):
    criterion = nn.NLLLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for epoch in range(epochs):
        for inputs, labels in loader:
            optimizer.zero_grad()
            log_probs = F.log_softmax(model(inputs), dim=1)
            loss = criterion(log_probs, labels)
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: {loss.item():.4f}")
