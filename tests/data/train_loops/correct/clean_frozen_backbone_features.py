# expect: clean
# runnable
# Transfer learning: a frozen feature extractor in eval mode run under no_grad, only the linear
# head trained on its features (the loss gets its grad_fn from the head).
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
for parameter in backbone.parameters():
    parameter.requires_grad = False
head = nn.Linear(8, 4)
optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()
loader = DataLoader(TensorDataset(torch.randn(16, 3, 8, 8), torch.randint(0, 4, (16,))), batch_size=4)

backbone.eval()
for epoch in range(2):
    head.train()
    for images, labels in loader:
        with torch.no_grad():
            features = backbone(images)
        logits = head(features)
        loss = criterion(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
