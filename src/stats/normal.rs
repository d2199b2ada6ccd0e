//! The standard normal CDF, upper tail and density, one point at a time ([`norm_tails`]) or a
//! slice at a time ([`norm_tails_batch`], vectorised with AVX2 where the CPU has it). Both
//! run the same arithmetic in the same order, so they give the same bits.
//!
//! Method, for |x| <= 37.5 (beyond, and for NaN, the tails and density are computed by the
//! out-of-line [`far_tail`]):
//!
//! * the density's exponential `e = exp(-x^2/2)`, with `x^2` carried as `hi + lo` (its rounded
//!   value plus the exact rounding error: Dekker's product with Veltkamp's split) and
//!   `exp(-hi/2) (1 - lo/2)`, so the rounding of `x^2` (up to `x^2/2` units in the last place)
//!   is corrected; `exp` itself is [`exp_kernel`]: Cody-Waite reduction by `ln 2` and the
//!   Taylor polynomial of degree 13 on |r| <= ln(2)/2 (truncation 4e-18), about one unit in
//!   the last place;
//! * the smaller tail `Phi(-|x|) = erfc(z)/2`, `z = |x|/sqrt(2)`, from W. J. Cody's rational
//!   Chebyshev approximations (Cody 1969, "Rational Chebyshev approximations for the error
//!   function", Mathematics of Computation 23, 631-637; the coefficient sets for about 18
//!   significant digits): `erf(z) = z P(z^2)/Q(z^2)` for `z < 0.46875`,
//!   `erfc(z) = e P(z)/Q(z)` up to `z = 4`, `erfc(z) = e/z (1/sqrt(pi) + r P(r)/Q(r))` with
//!   `r = 1/z^2` beyond (evaluated as polynomials in `z^2` with reversed coefficients, so each
//!   region is one numerator over one denominator and one division);
//! * the larger tail is one minus the smaller (at least 1/2, so within a unit in the last
//!   place).
//!
//! Accuracy against 50-digit mpmath values (`tests/numbers/normal_tails.rs`): a few units in the last
//! place in both tails and the density. Where the batch version runs with AVX2, each lane
//! computes all three regions and selects one, with the same operations as the scalar
//! branch; Rust never contracts `a * b + c` into a fused multiply-add, so the bits agree.

/// Both tails and the density of the standard normal at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalTails {
    /// `Phi(x)`.
    pub lower: f64,
    /// `1 - Phi(x) = Phi(-x)`, computed directly (no cancellation in the upper tail).
    pub upper: f64,
    /// `phi(x)`.
    pub pdf: f64,
}

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;
/// Largest |x| handled by the kernel: `exp(-x^2/2)` is still a normal double (5e-306).
const KERNEL_MAX: f64 = 37.5;

// Cody (1969): erf(z) = z P(z^2) / Q(z^2) for |z| <= 0.46875.
#[allow(clippy::excessive_precision)] // as published
const ERF_P: [f64; 5] = [
    3.209377589138469472562e3,
    3.774852376853020208137e2,
    1.138641541510501556495e2,
    3.161123743870565596947e0,
    1.857777061846031526730e-1,
];
#[allow(clippy::excessive_precision)] // as published
const ERF_Q: [f64; 5] =
    [2.844236833439170622273e3, 1.282616526077372275645e3, 2.440246379344441733056e2, 2.360129095234412093499e1, 1.0];
// erfc(z) = exp(-z^2) P(z) / Q(z) for 0.46875 < z <= 4.
#[allow(clippy::excessive_precision)] // as published
const ERFC_P1: [f64; 9] = [
    1.23033935479799725272e3,
    2.05107837782607146532e3,
    1.71204761263407058314e3,
    8.81952221241769090411e2,
    2.98635138197400131132e2,
    6.61191906371416294775e1,
    8.88314979438837594118e0,
    5.64188496988670089180e-1,
    2.15311535474403846343e-8,
];
#[allow(clippy::excessive_precision)] // as published
const ERFC_Q1: [f64; 9] = [
    1.23033935480374942043e3,
    3.43936767414372163696e3,
    4.36261909014324715820e3,
    3.29079923573345962678e3,
    1.62138957456669018874e3,
    5.37181101862009857509e2,
    1.17693950891312499305e2,
    1.57449261107098347253e1,
    1.0,
];
// erfc(z) = exp(-z^2) / z (1/sqrt(pi) + r P(r) / Q(r)), r = 1/z^2, for z > 4; coefficients
// in ascending powers of r (reversed below to evaluate in z^2).
#[allow(clippy::excessive_precision)] // as published
const ERFC_P2: [f64; 6] = [
    -6.58749161529837803157e-4,
    -1.60837851487422766278e-2,
    -1.25781726111229246204e-1,
    -3.60344899949804439429e-1,
    -3.05326634961232344035e-1,
    -1.63153871373020978498e-2,
];
#[allow(clippy::excessive_precision)] // as published
const ERFC_Q2: [f64; 6] = [
    2.33520497626869185443e-3,
    6.05183413124413191178e-2,
    5.27905102951428412248e-1,
    1.87295284992346047209e0,
    2.56852019228982242072e0,
    1.0,
];

/// Horner evaluation of `c[0] + c[1] t + ... + c[N-1] t^(N-1)`.
#[inline(always)]
fn poly<const N: usize>(c: &[f64; N], t: f64) -> f64 {
    let mut acc = c[N - 1];
    for &ci in c[..N - 1].iter().rev() {
        acc = acc * t + ci;
    }
    acc
}

/// Horner evaluation of `c[N-1] + c[N-2] t + ... + c[0] t^(N-1)` (the reversed polynomial).
#[inline(always)]
fn poly_rev<const N: usize>(c: &[f64; N], t: f64) -> f64 {
    let mut acc = c[0];
    for &ci in &c[1..] {
        acc = acc * t + ci;
    }
    acc
}

/// `exp(x)` for -708 <= x <= 0 (the kernel's range; not for general use): `x = k ln 2 + r`
/// with `k` the nearest integer to `x / ln 2` (found by adding 1.5 2^52, which also leaves
/// `k` in the low bits), `ln 2` in two parts so `k ln2_hi` is exact, `exp(r)` by the Taylor
/// polynomial of degree 13, and `2^k` put into the exponent bits.
#[inline(always)]
fn exp_kernel(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const LN2_HI: f64 = 0.693_147_180_369_123_8; // 0x3fe62e42fee00000
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const INV_FACT: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let kf = x * std::f64::consts::LOG2_E + SHIFT;
    let k = kf - SHIFT;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = poly(&INV_FACT, r);
    let kbits = (kf.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let scale = f64::from_bits((kbits.wrapping_add(1023) << 52) as u64);
    p * scale
}

/// `exp(-x^2/2)` with the rounding of `x^2` corrected: `x^2 = hi + lo` exactly (Veltkamp's
/// split, `xh` the top 26 bits, and Dekker's product), then `exp(-hi/2) (1 - lo/2)`.
#[inline(always)]
fn exp_minus_half_square(x: f64) -> f64 {
    let hi = x * x;
    let c = 134_217_729.0 * x; // 2^27 + 1
    let xh = c - (c - x);
    let xl = x - xh;
    let lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl;
    let e0 = exp_kernel(-0.5 * hi);
    e0 - 0.5 * lo * e0
}

/// The smaller tail as `(numerator, denominator)` in each of Cody's three regions, from
/// `z = |x|/sqrt(2)`, `z2 = z^2` and `e = exp(-x^2/2)`: erf for `z < 0.46875`, the middle
/// erfc up to `z = 4`, the asymptotic erfc beyond. The scalar path computes the one its `z`
/// is in, the batch path the first two and selects (leaving the third to the scalar path): the
/// same operations either way.
#[inline(always)]
fn erf_region(z: f64, z2: f64) -> (f64, f64) {
    let q = poly(&ERF_Q, z2);
    (0.5 * (q - z * poly(&ERF_P, z2)), q)
}

#[inline(always)]
fn middle_region(e: f64, z: f64) -> (f64, f64) {
    (0.5 * e * poly(&ERFC_P1, z), poly(&ERFC_Q1, z))
}

#[inline(always)]
fn far_region(e: f64, z: f64, z2: f64) -> (f64, f64) {
    let q = poly_rev(&ERFC_Q2, z2);
    (0.5 * e * (z2 * q * FRAC_1_SQRT_PI + poly_rev(&ERFC_P2, z2)), z * z2 * q)
}

/// Scalar kernel for |x| <= [`KERNEL_MAX`]: `(smaller tail, density)`.
#[inline(always)]
fn kernel(x: f64) -> (f64, f64) {
    let e = exp_minus_half_square(x);
    let z = x.abs() * std::f64::consts::FRAC_1_SQRT_2;
    let z2 = z * z;
    let (num, den) = if z < 0.46875 {
        erf_region(z, z2)
    } else if z <= 4.0 {
        middle_region(e, z)
    } else {
        far_region(e, z, z2)
    };
    (num / den, FRAC_1_SQRT_2PI * e)
}

/// Beyond the kernel (|x| > 37.5) or NaN: Cody's asymptotic form with the standard library's
/// `exp` (which goes gracefully into subnormals and zero).
#[inline(never)]
fn far_tail(x: f64) -> (f64, f64) {
    let z = x.abs() * std::f64::consts::FRAC_1_SQRT_2;
    if z > 40.0 {
        // exp(-1600) is 0 in double precision.
        return (0.0, 0.0);
    }
    if !(z > 0.0) {
        return (f64::NAN, f64::NAN);
    }
    let e = (-0.5 * x * x).exp();
    let r = 1.0 / (z * z);
    (0.5 * e / z * (FRAC_1_SQRT_PI + r * poly(&ERFC_P2, r) / poly(&ERFC_Q2, r)), FRAC_1_SQRT_2PI * e)
}

#[inline(always)]
fn assemble(x: f64, small: f64, pdf: f64) -> NormalTails {
    let large = 1.0 - small;
    if x >= 0.0 {
        NormalTails { lower: large, upper: small, pdf }
    } else {
        NormalTails { lower: small, upper: large, pdf }
    }
}

/// `Phi(x)`, `1 - Phi(x)` and `phi(x)` at one point (see the module documentation).
#[inline]
pub fn norm_tails(x: f64) -> NormalTails {
    let (small, pdf) = if x.abs() <= KERNEL_MAX { kernel(x) } else { far_tail(x) };
    assemble(x, small, pdf)
}

/// Standard normal density.
#[inline]
pub fn norm_pdf(x: f64) -> f64 {
    norm_tails(x).pdf
}

/// Standard normal CDF, accurate in both tails.
#[inline]
pub fn norm_cdf(x: f64) -> f64 {
    norm_tails(x).lower
}

/// [`norm_tails`] for every element of `x`: `Phi(x_i)` into `lower[i]`, `1 - Phi(x_i)` into
/// `upper[i]` and `phi(x_i)` into `pdf[i]`, bit for bit what `norm_tails` gives. Vectorised
/// with AVX2 where available.
pub fn norm_tails_batch(x: &[f64], lower: &mut [f64], upper: &mut [f64], pdf: &mut [f64]) {
    assert!(lower.len() == x.len() && upper.len() == x.len() && pdf.len() == x.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked above).
        unsafe { batch_avx2(x, lower, upper, pdf) };
        return;
    }
    batch(x, lower, upper, pdf);
}

/// Whether the batch leaves element `x` to [`norm_tails`]: outside the kernel's range, or in
/// the far region of the kernel (`z > 4`, `|x| > 5.66`: a probability below 1e-8, rare).
#[inline(always)]
fn left_to_scalar(x: f64) -> bool {
    x.is_nan() || x.abs() > KERNEL_MAX || x.abs() * std::f64::consts::FRAC_1_SQRT_2 > 4.0
}

/// The two common regions per element (erf and the middle erfc), then a selection: no
/// branches in the loop, so it vectorises. Elements in the far region or outside the kernel's
/// range are redone by [`norm_tails`] after (the same operations the scalar path takes), so
/// the vector loop does not pay for a region it almost never needs.
#[inline(always)]
fn batch(x: &[f64], lower: &mut [f64], upper: &mut [f64], pdf: &mut [f64]) {
    let mut outside = false;
    for (((&xi, lo), up), pd) in x.iter().zip(lower.iter_mut()).zip(upper.iter_mut()).zip(pdf.iter_mut()) {
        let xc = if xi.abs() <= KERNEL_MAX { xi } else { 0.0 };
        let e = exp_minus_half_square(xc);
        let z = xc.abs() * std::f64::consts::FRAC_1_SQRT_2;
        outside |= (xc != xi) | (z > 4.0);
        let z2 = z * z;
        let (r0, r1) = (erf_region(z, z2), middle_region(e, z));
        let (num, den) = if z < 0.46875 { r0 } else { r1 };
        let small = num / den;
        let large = 1.0 - small;
        let neg = xc < 0.0;
        *lo = if neg { small } else { large };
        *up = if neg { large } else { small };
        *pd = FRAC_1_SQRT_2PI * e;
    }
    if outside {
        for (((&xi, lo), up), pd) in x.iter().zip(lower.iter_mut()).zip(upper.iter_mut()).zip(pdf.iter_mut()) {
            if left_to_scalar(xi) {
                let t = norm_tails(xi);
                *lo = t.lower;
                *up = t.upper;
                *pd = t.pdf;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn batch_avx2(x: &[f64], lower: &mut [f64], upper: &mut [f64], pdf: &mut [f64]) {
    batch(x, lower, upper, pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_kernel_is_close_to_std() {
        let mut worst = 0.0f64;
        let mut x = -708.0;
        while x <= 0.0 {
            let (a, b) = (exp_kernel(x), x.exp());
            worst = worst.max(((a - b) / b).abs() / f64::EPSILON);
            x += 0.0137;
        }
        assert!(worst <= 2.0, "exp_kernel differs from std's exp by {worst} ulp");
    }

    #[test]
    fn batch_is_bit_identical_to_scalar() {
        let mut xs: Vec<f64> = (-8000..=8000).map(|i| i as f64 * 0.005).collect();
        xs.extend([-37.5, 37.5, -37.6, 40.0, -60.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.0, -0.0]);
        xs.extend([0.46875 * std::f64::consts::SQRT_2, 4.0 * std::f64::consts::SQRT_2]);
        let n = xs.len();
        let (mut lower, mut upper, mut pdf) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        norm_tails_batch(&xs, &mut lower, &mut upper, &mut pdf);
        let (mut lower_plain, mut upper_plain, mut pdf_plain) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        batch(&xs, &mut lower_plain, &mut upper_plain, &mut pdf_plain);
        for (i, &x) in xs.iter().enumerate() {
            let t = norm_tails(x);
            for (what, v) in [("lower", lower[i]), ("lower (plain)", lower_plain[i])] {
                assert!(v.to_bits() == t.lower.to_bits() || (v.is_nan() && t.lower.is_nan()), "{what} at {x}");
            }
            for (what, v) in [("upper", upper[i]), ("upper (plain)", upper_plain[i])] {
                assert!(v.to_bits() == t.upper.to_bits() || (v.is_nan() && t.upper.is_nan()), "{what} at {x}");
            }
            for (what, v) in [("pdf", pdf[i]), ("pdf (plain)", pdf_plain[i])] {
                assert!(v.to_bits() == t.pdf.to_bits() || (v.is_nan() && t.pdf.is_nan()), "{what} at {x}");
            }
        }
    }
}
