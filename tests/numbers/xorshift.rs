//! A small deterministic generator for the simulation checks (mediation recovery, KHB):
//! xorshift64* uniforms in (0, 1) and Box-Muller normals.

pub struct Rng(pub u64);

impl Rng {
    /// xorshift64* uniform in (0, 1).
    pub fn unif(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal (Box-Muller, cosine branch).
    pub fn normal(&mut self) -> f64 {
        (-2.0 * self.unif().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unif()).cos()
    }
}
