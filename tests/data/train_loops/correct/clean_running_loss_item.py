# expect: clean
# runnable
# Loss bookkeeping done right: running_loss += loss.item() * batch size, a list of detached
# losses, and the epoch mean from them.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
trainloader = DataLoader(TensorDataset(torch.randn(30, 4), torch.randint(0, 3, (30,))), batch_size=10)
net = nn.Linear(4, 3)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

epoch_losses = []
for epoch in range(2):
    running_loss = 0.0
    batch_losses = []
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
        batch_losses.append(loss.detach())
    epoch_losses.append(running_loss / len(trainloader.dataset))
    print(epoch, torch.stack(batch_losses).mean().item())
