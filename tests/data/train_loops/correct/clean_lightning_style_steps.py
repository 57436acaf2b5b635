# expect: clean
# runnable
# A LightningModule-like class: training_step / validation_step return losses and a small fit
# loop (written out, as in a from-scratch tutorial) drives them.
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class LitClassifier(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.layer_1 = nn.Linear(6, hidden)
        self.layer_2 = nn.Linear(hidden, 3)

    def forward(self, x):
        return self.layer_2(F.relu(self.layer_1(x)))

    def training_step(self, batch):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch):
        x, y = batch
        logits = self(x)
        return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def fit(module, train_loader, val_loader, max_epochs=2):
    optimizer = module.configure_optimizers()
    for epoch in range(max_epochs):
        module.train()
        for batch in train_loader:
            optimizer.zero_grad()
            loss = module.training_step(batch)
            loss.backward()
            optimizer.step()
        module.eval()
        with torch.no_grad():
            results = [module.validation_step(batch) for batch in val_loader]
        print(epoch, sum(acc.item() for _, acc in results) / len(results))


torch.manual_seed(0)
train = DataLoader(TensorDataset(torch.randn(30, 6), torch.randint(0, 3, (30,))), batch_size=10)
val = DataLoader(TensorDataset(torch.randn(20, 6), torch.randint(0, 3, (20,))), batch_size=10)
fit(LitClassifier(), train, val)
