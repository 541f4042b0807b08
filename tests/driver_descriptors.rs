//! A manager used to hold three descriptors (its socket, its own epoll, and
//! a clone of the host's registry). In a driver it holds one: its socket.
//! (A test binary of its own, so no other test opens descriptors meanwhile.)

use std::time::Duration;

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::Manager;
use asterisk_io::driver::Driver;
use asterisk_io::emu::{Emulator, EmulatorConfig};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_manager_in_a_driver_holds_only_its_socket() {
    let mut driver = Driver::new().unwrap();
    let config = EmulatorConfig::default().user("admin", "s3cret");
    let emu = driver
        .add(Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap())
        .unwrap();
    let addr = driver.get(emu).local_addr().unwrap();
    let t = Duration::from_secs(5);
    let before = open_descriptors();
    let managers: Vec<_> = (0..20)
        .map(|_| driver.add(Manager::connect(addr).unwrap()).unwrap())
        .collect();
    for &m in &managers {
        driver.login(m, &Login::new("admin", "s3cret"), t).unwrap();
        driver.call(m, &Ping, t).unwrap();
    }
    // Each manager: its socket, and the emulator's end of the connection.
    assert_eq!(open_descriptors() - before, 2 * managers.len());
}
