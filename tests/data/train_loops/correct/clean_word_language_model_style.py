# expect: clean
# The structure of the word-level language model reference script: the model (from the project's
# own module) returns log-probabilities and the loss is NLLLoss; manual SGD with gradient clipping,
# model.zero_grad(), hidden states detached between batches, evaluate() with eval() and no_grad.
import math
import time

import torch
import torch.nn as nn

import data
import model

corpus = data.Corpus("./data/wikitext-2")
ntokens = len(corpus.dictionary)
model = model.RNNModel("LSTM", ntokens, 200, 200, 2, 0.2).to("cpu")
criterion = nn.NLLLoss()
bptt, clip, lr, log_interval = 35, 0.25, 20.0, 200


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].view(-1)


def evaluate(data_source, eval_batch_size=10):
    model.eval()
    total_loss = 0.0
    hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


def train(train_data, epoch, batch_size=20):
    model.train()
    total_loss = 0.0
    start_time = time.time()
    hidden = model.init_hidden(batch_size)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
        if batch % log_interval == 0 and batch > 0:
            cur_loss = total_loss / log_interval
            print(epoch, batch, cur_loss, math.exp(cur_loss), time.time() - start_time)
            total_loss = 0.0


best_val_loss = None
for epoch in range(1, 41):
    train(corpus.train, epoch)
    val_loss = evaluate(corpus.valid)
    if not best_val_loss or val_loss < best_val_loss:
        best_val_loss = val_loss
    else:
        lr /= 4.0
test_loss = evaluate(corpus.test)
