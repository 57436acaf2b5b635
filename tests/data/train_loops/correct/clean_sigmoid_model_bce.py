# expect: clean
# runnable
# A model that ends in nn.Sigmoid with BCELoss on its probabilities (as older tutorials do).
import torch
from torch import nn

torch.manual_seed(0)
features = torch.randn(50, 4)
labels = (features[:, 0] > 0).float().unsqueeze(1)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
criterion = nn.BCELoss()
optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)

for epoch in range(20):
    optimizer.zero_grad()
    outputs = model(features)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    if epoch % 10 == 0:
        print(epoch, loss.item())
