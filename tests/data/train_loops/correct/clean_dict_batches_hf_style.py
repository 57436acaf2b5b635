# expect: clean
# runnable
# Dictionary batches in the Hugging Face style: the model takes the batch minus the labels, returns
# an object with .logits; the loss is computed from the logits and batch["labels"].
import torch
from torch import nn


class Output:
    def __init__(self, logits):
        self.logits = logits


class TinyTextModel(nn.Module):
    def __init__(self, vocab=50, dim=8, classes=2):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, input_ids, attention_mask=None):
        return Output(self.head(self.embed(input_ids)))


torch.manual_seed(0)
train_dataloader = [
    {"input_ids": torch.randint(0, 50, (4, 6)), "attention_mask": torch.ones(4, 6), "labels": torch.randint(0, 2, (4,))}
    for _ in range(5)
]
model = TinyTextModel()
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
loss_fct = nn.CrossEntropyLoss()
num_epochs = 2
lr_scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, total_iters=num_epochs * len(train_dataloader))

model.train()
for epoch in range(num_epochs):
    for batch in train_dataloader:
        inputs = {key: value for key, value in batch.items() if key != "labels"}
        outputs = model(**inputs)
        loss = loss_fct(outputs.logits, batch["labels"])
        loss.backward()
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
