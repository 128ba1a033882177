/* _dl_find_object for static musl binaries: gcc 12's unwinder (libgcc_eh.a,
 * built on glibc 2.35+) finds a PC's unwind tables with this glibc function,
 * which musl does not have. Same answer from dl_iterate_phdr, which musl has.
 * Layout of glibc's struct on x86_64 and aarch64 (no eh_dbase, no eh_count).
 * Linked into the npm packages' Linux binaries by scripts/npm-packages. */
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dl_find_object {
  unsigned long long dlfo_flags;
  void *dlfo_map_start;
  void *dlfo_map_end;
  void *dlfo_link_map;
  void *dlfo_eh_frame;
  unsigned long long dlfo_reserved[7];
};

struct search {
  uintptr_t pc;
  struct dl_find_object *found;
};

static int visit(struct dl_phdr_info *info, size_t size, void *data) {
  struct search *search = data;
  uintptr_t low = UINTPTR_MAX, high = 0;
  const ElfW(Phdr) *eh_frame = NULL;
  int holds_pc = 0;
  (void)size;
  for (size_t i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
    if (phdr->p_type == PT_LOAD) {
      uintptr_t start = info->dlpi_addr + phdr->p_vaddr;
      uintptr_t end = start + phdr->p_memsz;
      if (search->pc >= start && search->pc < end) holds_pc = 1;
      if (start < low) low = start;
      if (end > high) high = end;
    } else if (phdr->p_type == PT_GNU_EH_FRAME) {
      eh_frame = phdr;
    }
  }
  if (!holds_pc) return 0;
  memset(search->found, 0, sizeof *search->found);
  search->found->dlfo_map_start = (void *)low;
  search->found->dlfo_map_end = (void *)high;
  if (eh_frame) search->found->dlfo_eh_frame = (void *)(info->dlpi_addr + eh_frame->p_vaddr);
  return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result) {
  struct search search = {(uintptr_t)pc, result};
  return dl_iterate_phdr(visit, &search) ? 0 : -1;
}
