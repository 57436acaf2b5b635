# expect: DL001, DL010
"""Exam part 2(b), reconstructed from the answer sheet's OCR: the buggy training loop.

The sheet's fix says "place optimizer.zero_grad() before backward pass", so the loop in the question
never zeroes the gradients; its loss line (copied into the sheet's rewrite) is loss_fn(labels, preds).
Expected findings: DL001 (zero_grad missing) and DL010 (loss arguments in the wrong order).
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
    preds = model(images)
    loss = loss_fn(labels, preds)
    loss.backward()
    optimizer.step()
