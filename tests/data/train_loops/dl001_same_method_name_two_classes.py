# expect: DL001
# Two trainers with a train_step method each, and two functions with a nested closure each: calls
# resolve to the method of the class they are written in (self.loss_fn too) and to the closure of
# their own function. Only ClassifierTrainer.fit's loop and fit_bad's loop miss zero_grad().
import torch
from torch import nn


class RegressorTrainer:
    def __init__(self, loader):
        self.model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1))
        self.loader = loader
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.loss_fn = nn.BCEWithLogitsLoss()

    def train_step(self, inputs, targets):
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(inputs), targets)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def fit(self):
        for inputs, targets in self.loader:
            self.train_step(inputs, targets)


class ClassifierTrainer:
    def __init__(self, loader):
        self.net = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
        self.loader = loader
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=0.1)
        self.loss_fn = nn.BCELoss()

    def train_step(self, inputs, targets):
        loss = self.loss_fn(self.net(inputs), targets)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def fit(self):
        for inputs, targets in self.loader:
            self.train_step(inputs, targets)


def fit_good(model, x, y):
    optimizer = torch.optim.LBFGS(model.parameters())
    criterion = nn.MSELoss()

    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss

    for _ in range(20):
        optimizer.step(closure)


def fit_bad(model, x, y):
    optimizer = torch.optim.LBFGS(model.parameters())
    criterion = nn.MSELoss()

    def closure():
        loss = criterion(model(x), y)
        loss.backward()
        return loss

    for _ in range(20):
        optimizer.step(closure)
