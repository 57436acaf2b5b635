# expect: DL010
"""Exam part 2(b): the answer sheet's rewrite (OCR). zero_grad() is now first in the loop, but the
loss still takes (labels, preds): PyTorch losses take (input, target). Expected findings: DL010 only.
"""

import torch
from torch import nn

model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(64, 1, 28, 28),
                                                                          torch.randint(0, 10, (64,))),
                                           batch_size=16)

for images, labels in train_loader:
    optimizer.zero_grad()
    preds = model(images)
    loss = loss_fn(labels, preds)
    loss.backward()
    optimizer.step()
