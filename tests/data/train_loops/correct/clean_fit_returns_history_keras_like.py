# expect: clean
# runnable
# A Keras-like fit(model, ...) that returns a history dict; evaluate() is called from fit after
# model.eval() is set inside evaluate itself; the loss object is passed in by keyword.
import torch
from torch import nn


def evaluate(model, batches, loss_fn):
    model.eval()
    with torch.no_grad():
        losses = [loss_fn(model(x), y).item() for x, y in batches]
    return sum(losses) / len(losses)


def fit(model, batches, val_batches, *, loss_fn, optimizer, epochs=2):
    history = {"loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for x, y in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["loss"].append(total / len(batches))
        history["val_loss"].append(evaluate(model, val_batches, loss_fn))
    return history


torch.manual_seed(0)
net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
data = [(torch.randn(5, 2), torch.randn(5, 1)) for _ in range(5)]
print(fit(net, data[:4], data[4:], loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(net.parameters(), lr=0.05)))
