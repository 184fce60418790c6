fn main() {
    println!("runnel");
}
