# expect: DL010
import torch
from torch import nn

model = nn.Linear(8, 4)
loss_fn = nn.NLLLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loader = []

for batch in loader:
    x = batch["input"].cuda()
    y = batch["labels"].cuda()
    optimizer.zero_grad()
    log_probs = torch.log_softmax(model(x), dim=-1)
    loss = loss_fn(y, log_probs)
    loss.backward()
    optimizer.step()
