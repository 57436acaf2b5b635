# expect: clean
# runnable
# A trainer class in the style of many research repositories: train_epoch / validate methods,
# the mode set in each, a scheduler stepped per epoch, the best checkpoint kept.
import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Trainer:
    def __init__(self, model, train_loader, val_loader, lr=1e-2):
        self.model = model
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=1, gamma=0.5)
        self.best_state = None
        self.best_loss = float("inf")

    def train_epoch(self):
        self.model.train()
        running = 0.0
        for inputs, targets in self.train_loader:
            self.optimizer.zero_grad()
            outputs = self.model(inputs)
            loss = self.criterion(outputs, targets)
            loss.backward()
            self.optimizer.step()
            running += loss.item() * inputs.size(0)
        return running / len(self.train_loader.dataset)

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        total = 0.0
        for inputs, targets in self.val_loader:
            total += self.criterion(self.model(inputs), targets).item() * inputs.size(0)
        return total / len(self.val_loader.dataset)

    def fit(self, epochs):
        for epoch in range(epochs):
            train_loss = self.train_epoch()
            val_loss = self.validate()
            self.scheduler.step()
            if val_loss < self.best_loss:
                self.best_loss = val_loss
                self.best_state = copy.deepcopy(self.model.state_dict())
            print(f"{epoch}: train {train_loss:.3f} val {val_loss:.3f}")
        return self.best_loss


torch.manual_seed(0)
data = TensorDataset(torch.randn(48, 5), torch.randint(0, 4, (48,)))
train_set, val_set = torch.utils.data.random_split(data, [32, 16])
net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 4))
Trainer(net, DataLoader(train_set, batch_size=8), DataLoader(val_set, batch_size=8)).fit(2)
