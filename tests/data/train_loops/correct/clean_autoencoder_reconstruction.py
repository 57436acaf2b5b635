# expect: clean
# runnable
# An autoencoder: the reconstruction compared with its own input, criterion(reconstruction, x);
# images only, the labels of the loader ignored.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 64), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x)).view(-1, 1, 8, 8)


torch.manual_seed(0)
loader = DataLoader(TensorDataset(torch.rand(24, 1, 8, 8), torch.zeros(24)), batch_size=6, shuffle=True)
autoencoder = AutoEncoder()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(autoencoder.parameters(), lr=1e-3, weight_decay=1e-5)
outputs = []
for epoch in range(2):
    for img, _ in loader:
        recon = autoencoder(img)
        loss = criterion(recon, img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    outputs.append((epoch, img.detach(), recon.detach()))
