/* A stand-in for Windows 10's bcryptprimitives.dll, for tests/windows.rs only: Rust's std
 * takes its random numbers from ProcessPrng there, which Debian 12's wine 8.0 lacks. This one
 * exports ProcessPrng and forwards to BCryptGenRandom, which wine has. It is placed beside the
 * .exe under test and never shipped. */
#include <windows.h>
#include <bcrypt.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
        data += n; len -= n;
    }
    return TRUE;
}
