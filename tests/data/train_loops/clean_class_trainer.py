# expect: clean
# A Trainer class: optimizer and loss as attributes, a train_step method called from the loop,
# dictionary batches, BCEWithLogitsLoss on raw logits, an LBFGS-style closure elsewhere.
import torch
from torch import nn


class Trainer:
    def __init__(self, model, loader):
        self.model = model
        self.loader = loader
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.loss_fn = nn.BCEWithLogitsLoss()
        self.history = []

    def train_step(self, batch):
        inputs = batch["input"]
        labels = batch["label"].float()
        self.optimizer.zero_grad()
        logits = self.model(inputs).squeeze(1)
        loss = self.loss_fn(logits, labels)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def fit(self, epochs):
        self.model.train()
        for _ in range(epochs):
            for batch in self.loader:
                loss = self.train_step(batch)
                self.history.append(loss.item())


def fit_lbfgs(model, x, y):
    optimizer = torch.optim.LBFGS(model.parameters())
    criterion = nn.MSELoss()

    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss

    for _ in range(20):
        optimizer.step(closure)
