# expect: clean
# runnable
# A fit() function with nested train_step / eval_step closures over the model, optimizer and
# loss; the epoch loop sets the modes around the calls.
import torch
from torch import nn


def fit(model, train_batches, val_batches, epochs=2, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()

    def train_step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    @torch.no_grad()
    def eval_step(x, y):
        logits = model(x)
        return loss_fn(logits, y).item(), (logits.argmax(-1) == y).float().mean().item()

    for epoch in range(epochs):
        model.train()
        train_losses = [train_step(x, y) for x, y in train_batches]
        model.eval()
        metrics = [eval_step(x, y) for x, y in val_batches]
        print(epoch, sum(train_losses) / len(train_losses), metrics[-1])
    return model


torch.manual_seed(0)
batches = [(torch.randn(6, 3), torch.randint(0, 2, (6,))) for _ in range(4)]
fit(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2)), batches[:3], batches[3:])
