# expect: clean
# runnable
# An encoder-decoder GRU trained with teacher forcing: outputs reshaped to (N*T, V) and targets to
# (N*T,) for CrossEntropyLoss(ignore_index=PAD); gradient clipping before the step.
import torch
from torch import nn

PAD, VOCAB, HIDDEN = 0, 12, 16


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, HIDDEN, padding_idx=PAD)
        self.encoder = nn.GRU(HIDDEN, HIDDEN, batch_first=True)
        self.decoder = nn.GRU(HIDDEN, HIDDEN, batch_first=True)
        self.project = nn.Linear(HIDDEN, VOCAB)

    def forward(self, source, target_in):
        _, hidden = self.encoder(self.embed(source))
        decoded, _ = self.decoder(self.embed(target_in), hidden)
        return self.project(decoded)


torch.manual_seed(0)
model = Seq2Seq()
criterion = nn.CrossEntropyLoss(ignore_index=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
pairs = [(torch.randint(1, VOCAB, (4, 5)), torch.randint(1, VOCAB, (4, 6))) for _ in range(3)]

for epoch in range(2):
    model.train()
    epoch_loss = 0.0
    for src, trg in pairs:
        optimizer.zero_grad()
        output = model(src, trg[:, :-1])
        loss = criterion(output.reshape(-1, VOCAB), trg[:, 1:].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        epoch_loss += loss.item()
    print(epoch, epoch_loss / len(pairs))
