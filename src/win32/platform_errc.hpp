// Windows numbers for the names in internal/errc.hpp. Node reports system errors on Windows by
// libuv's codes (err.errno -4058 for ENOENT), not by the C runtime's errno, so these are
// libuv's numbers, positive as the library carries them (-err is Node's err.errno). Signals
// are Node's on win32 (os.constants.signals).
#pragma once

namespace childproc::detail::os {

inline constexpr int kEACCES = 4092;
inline constexpr int kEAGAIN = 4088;
inline constexpr int kEBADF = 4083;
inline constexpr int kECANCELED = 4081;
inline constexpr int kEINVAL = 4071;
inline constexpr int kEMFILE = 4066;
inline constexpr int kENFILE = 4061;
inline constexpr int kENOBUFS = 4060;
inline constexpr int kENOENT = 4058;
inline constexpr int kENOSYS = 4054;
inline constexpr int kEPIPE = 4047;
inline constexpr int kESRCH = 4040;
inline constexpr int kETIMEDOUT = 4039;

inline constexpr int kSIGINT = 2;
inline constexpr int kSIGKILL = 9;
inline constexpr int kSIGTERM = 15;

}  // namespace childproc::detail::os
