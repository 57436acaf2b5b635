# expect: clean
# runnable
# A GAN with two optimizers: the discriminator step on real and detached fake samples, then the
# generator step; each optimizer zeroes its own gradients.
import torch
from torch import nn

torch.manual_seed(0)
latent = 4
generator = nn.Sequential(nn.Linear(latent, 16), nn.ReLU(), nn.Linear(16, 2))
discriminator = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
adversarial_loss = nn.BCEWithLogitsLoss()
dataloader = [torch.randn(8, 2) + 3 for _ in range(4)]

for epoch in range(2):
    for real in dataloader:
        batch_size = real.size(0)
        valid = torch.ones(batch_size, 1)
        fake = torch.zeros(batch_size, 1)

        opt_d.zero_grad()
        z = torch.randn(batch_size, latent)
        generated = generator(z)
        real_loss = adversarial_loss(discriminator(real), valid)
        fake_loss = adversarial_loss(discriminator(generated.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        opt_d.step()

        opt_g.zero_grad()
        g_loss = adversarial_loss(discriminator(generated), valid)
        g_loss.backward()
        opt_g.step()
    print(f"epoch {epoch}: d {d_loss.item():.3f} g {g_loss.item():.3f}")
