// Device-to-device copy with 4-byte accesses, one thread per word and no loop: the
// baseline the vectorised copies are measured against (more instructions and more
// transactions in flight for the same bytes). The last n % 4 bytes, and misaligned buffers,
// go byte by byte.
//
// Status: compiled by NVRTC and checked by ptxas in CI; not yet verified on a GPU.

extern "C" __global__ void orac_copy_scalar(const unsigned char *__restrict__ src,
                                            unsigned char *__restrict__ dst,
                                            unsigned long long n) {
    const unsigned long long i = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
    const bool aligned = ((reinterpret_cast<unsigned long long>(src) |
                           reinterpret_cast<unsigned long long>(dst)) & 3) == 0;
    if (aligned) {
        const unsigned long long words = n / 4;
        if (i < words) {
            reinterpret_cast<unsigned int *>(dst)[i] =
                reinterpret_cast<const unsigned int *>(src)[i];
        } else if (i == words) {
            for (unsigned long long b = words * 4; b < n; ++b) dst[b] = src[b];
        }
    } else {
        // One thread per 4 bytes was launched: each copies its 4 bytes one at a time.
        for (unsigned long long b = i * 4; b < n && b < i * 4 + 4; ++b) dst[b] = src[b];
    }
}
