fn main() {
    std::process::exit(orac::cli::main());
}
