# expect: clean
"""A trainer whose ``fit`` method is called with keyword arguments, from itself and from outside.

Every call passes a CrossEntropyLoss and a model ending in raw logits, so ``fit`` is correct; the
module-level ``model`` and ``loss_fn = nn.NLLLoss()`` (used right, on log-probabilities, below) are
other objects that merely share the parameters' names.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Trainer:
    def __init__(self, lr=1e-3):
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5))

    def fit(self, model, loader, loss_fn, epochs=1):
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        model.train()
        for _ in range(epochs):
            for features, labels in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(features), labels)
                loss.backward()
                optimizer.step()

    def run(self, loader):
        self.fit(model=self.net, loader=loader, loss_fn=nn.CrossEntropyLoss(), epochs=5)


def pretrain(loader):
    trainer = Trainer()
    head = nn.Sequential(nn.Dropout(0.2), nn.Linear(20, 5))
    trainer.fit(head, loader, loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1))


model = nn.Sequential(nn.Linear(20, 5))
loss_fn = nn.NLLLoss()
sgd = torch.optim.SGD(model.parameters(), lr=0.1)
for features, labels in []:
    sgd.zero_grad()
    loss_fn(F.log_softmax(model(features), dim=1), labels).backward()
    sgd.step()
