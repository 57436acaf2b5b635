# expect: clean
# The model comes from another module (its forward may end in log_softmax): NLLLoss on its output
# is not known to be wrong, so no finding.
import torch
from torch import nn

from project.models import build_model
from project.data import get_loaders

model = build_model("convnet", num_classes=10)
train_loader, val_loader = get_loaders(batch_size=64)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
criterion = nn.NLLLoss()

for epoch in range(5):
    model.train()
    for images, targets in train_loader:
        optimizer.zero_grad()
        output = model(images)
        loss = criterion(output, targets)
        loss.backward()
        optimizer.step()
    model.eval()
    val_loss = 0.0
    with torch.no_grad():
        for images, targets in val_loader:
            val_loss += criterion(model(images), targets).item()
    print(f"epoch {epoch} val loss {val_loss / len(val_loader):.4f}")
