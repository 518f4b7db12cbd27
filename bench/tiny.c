/* The smallest child there is, so that a spawn benchmark measures the spawn: no libc at all.
   A static glibc binary spends ~250 us of its life in start-up here (perf: intel_check_word,
   get_common_cache_info — cpuid probing, and every cpuid traps to the hypervisor in a VM),
   more than the spawn mechanisms being compared. */
#if defined(__x86_64__)
void _start(void) {
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  __builtin_unreachable();
}
#elif defined(__aarch64__)
void _start(void) {
  __asm__ volatile("mov x8, #93\n\tmov x0, #0\n\tsvc #0");
  __builtin_unreachable();
}
#else
int main(void) { return 0; }
#endif
