# expect: clean
# runnable
# A small framework-style trainer with callbacks: on_epoch_start / on_batch_end hooks, the
# training iteration in a method, validation in another, modes switched through helper methods.
import torch
from torch import nn


class PrintCallback:
    def on_epoch_start(self, trainer, epoch):
        print("epoch", epoch)

    def on_batch_end(self, trainer, loss):
        trainer.losses.append(loss)


class Learner:
    def __init__(self, model, loss_func, opt_func=torch.optim.SGD, lr=0.1, callbacks=()):
        self.model = model
        self.loss_func = loss_func
        self.opt = opt_func(model.parameters(), lr=lr)
        self.callbacks = list(callbacks)
        self.losses = []

    def set_train(self):
        self.model.train()

    def set_eval(self):
        self.model.eval()

    def one_batch(self, xb, yb):
        pred = self.model(xb)
        loss = self.loss_func(pred, yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        for cb in self.callbacks:
            cb.on_batch_end(self, loss.item())

    def validate(self, valid_dl):
        self.set_eval()
        with torch.no_grad():
            return sum(self.loss_func(self.model(xb), yb).item() for xb, yb in valid_dl) / len(valid_dl)

    def fit(self, epochs, train_dl, valid_dl):
        for epoch in range(epochs):
            for cb in self.callbacks:
                cb.on_epoch_start(self, epoch)
            self.set_train()
            for xb, yb in train_dl:
                self.one_batch(xb, yb)
            print(self.validate(valid_dl))


torch.manual_seed(0)
batches = [(torch.randn(5, 4), torch.randint(0, 3, (5,))) for _ in range(4)]
Learner(nn.Linear(4, 3), nn.CrossEntropyLoss(), callbacks=[PrintCallback()]).fit(2, batches[:3], batches[3:])
