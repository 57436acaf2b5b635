# expect: clean
# runnable
# Gradient accumulation written the other way round: zero_grad() at the start of each accumulation
# window, step() at its end (both conditional), the loss scaled by the window length.
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(5, 2)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
accum_iter = 3
data_loader = [(torch.randn(4, 5), torch.randint(0, 2, (4,))) for _ in range(9)]

model.train()
for batch_idx, (inputs, labels) in enumerate(data_loader):
    if batch_idx % accum_iter == 0:
        optimizer.zero_grad()
    outputs = model(inputs)
    loss = loss_fn(outputs, labels) / accum_iter
    loss.backward()
    if (batch_idx + 1) % accum_iter == 0 or batch_idx + 1 == len(data_loader):
        optimizer.step()
