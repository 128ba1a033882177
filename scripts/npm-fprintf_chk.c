/* __fprintf_chk for static musl binaries: Debian's LLVM libunwind.a
 * (libunwind-14-dev) is built on glibc with _FORTIFY_SOURCE and calls this
 * glibc function on its error paths; musl has plain vfprintf. Linked into the
 * npm packages' x64 binary by scripts/npm-packages. */
#include <stdarg.h>
#include <stdio.h>
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...) {
  va_list ap; int r; (void)flag;
  va_start(ap, fmt); r = vfprintf(f, fmt, ap); va_end(ap);
  return r;
}
